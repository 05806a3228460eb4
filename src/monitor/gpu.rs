//! GPU memory and utilisation through NVML, loaded at run time: without a
//! driver (`libnvidia-ml.so.1` absent) the GPU is recorded as unavailable and
//! nothing else changes.

use nvml_wrapper::Nvml;

/// Something that reads GPU memory and utilisation: NVML, or a stand-in in tests.
pub trait GpuReader: Send + Sync {
    fn read(&self) -> Vec<GpuReading>;
}

impl GpuReader for Gpu {
    fn read(&self) -> Vec<GpuReading> {
        Gpu::read(self)
    }
}

pub struct Gpu {
    nvml: Nvml,
    devices: u32,
}

/// One device's reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuReading {
    pub index: u32,
    pub memory_used_bytes: u64,
    pub utilization_percent: Option<u32>,
}

impl Gpu {
    /// NVML, or why it is unavailable.
    pub fn init() -> Result<Gpu, String> {
        let nvml = Nvml::init().map_err(|e| format!("NVML unavailable: {e}"))?;
        let devices = nvml
            .device_count()
            .map_err(|e| format!("NVML device count: {e}"))?;
        if devices == 0 {
            return Err("NVML found no GPU".into());
        }
        Ok(Gpu { nvml, devices })
    }

    /// e.g. `1 × NVIDIA H100 80GB HBM3 (driver 550.54)`.
    pub fn describe(&self) -> String {
        let name = self
            .nvml
            .device_by_index(0)
            .and_then(|d| d.name())
            .unwrap_or_else(|_| "unknown GPU".into());
        let driver = self.nvml.sys_driver_version().unwrap_or_default();
        format!("{} × {name} (driver {driver})", self.devices)
    }

    pub fn read(&self) -> Vec<GpuReading> {
        (0..self.devices)
            .filter_map(|i| {
                let d = self.nvml.device_by_index(i).ok()?;
                let memory = d.memory_info().ok()?;
                Some(GpuReading {
                    index: i,
                    memory_used_bytes: memory.used,
                    utilization_percent: d.utilization_rates().ok().map(|u| u.gpu),
                })
            })
            .collect()
    }
}
