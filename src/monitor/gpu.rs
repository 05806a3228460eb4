//! GPU memory and utilisation through NVML, loaded at run time: without a
//! driver (`libnvidia-ml.so.1` absent) the GPU is recorded as unavailable and
//! nothing else changes.

use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::struct_wrappers::device::ProcessInfo;
use nvml_wrapper::Nvml;

/// Something that reads GPU memory and utilisation: NVML, or a stand-in in tests.
pub trait GpuReader: Send + Sync {
    /// One reading per device; `server_pids` are the launched server's
    /// processes, whose share of each device's memory is reported apart.
    fn read(&self, server_pids: &[u32]) -> Vec<GpuReading>;
}

impl GpuReader for Gpu {
    fn read(&self, server_pids: &[u32]) -> Vec<GpuReading> {
        Gpu::read(self, server_pids)
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
    /// Everything in use on the device, other tenants included.
    pub memory_used_bytes: u64,
    /// What the server's processes hold on this device; `None` where there is
    /// no server to attribute to or the driver does not tell per process
    /// (containers with their own PID namespace, for one).
    pub server_memory_bytes: Option<u64>,
    pub utilization_percent: Option<u32>,
}

/// Memory of the processes in `pids`, or `None` where none of them is listed
/// with a known amount.
pub fn attributed(processes: &[ProcessInfo], pids: &[u32]) -> Option<u64> {
    let mut found = None;
    for p in processes.iter().filter(|p| pids.contains(&p.pid)) {
        if let UsedGpuMemory::Used(bytes) = p.used_gpu_memory {
            *found.get_or_insert(0) += bytes;
        }
    }
    found
}

const NONE_FOUND: &str = "none found";

/// Why NVML cannot be used, in the words a report shows after "GPU:". A
/// machine without NVIDIA's driver is the common case, not a fault.
fn unavailable(e: &nvml_wrapper::error::NvmlError) -> String {
    use nvml_wrapper::error::NvmlError as E;
    match e {
        E::LibloadingError(_) | E::FailedToLoadSymbol(_) => {
            format!("{NONE_FOUND} (no NVIDIA driver)")
        }
        E::DriverNotLoaded => format!("{NONE_FOUND} (the NVIDIA driver is not loaded)"),
        E::NoPermission => "not readable (no permission for NVML)".into(),
        other => format!("NVML unavailable: {other}"),
    }
}

impl Gpu {
    /// NVML, or why it is unavailable.
    pub fn init() -> Result<Gpu, String> {
        let nvml = Nvml::init().map_err(|e| unavailable(&e))?;
        let devices = nvml
            .device_count()
            .map_err(|e| format!("NVML device count: {e}"))?;
        if devices == 0 {
            return Err(NONE_FOUND.into());
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

    pub fn read(&self, server_pids: &[u32]) -> Vec<GpuReading> {
        (0..self.devices)
            .filter_map(|i| {
                let d = self.nvml.device_by_index(i).ok()?;
                let memory = d.memory_info().ok()?;
                let server_memory_bytes = if server_pids.is_empty() {
                    None
                } else {
                    // A process can hold both a compute and a graphics context.
                    let mut processes = d.running_compute_processes().unwrap_or_default();
                    processes.extend(d.running_graphics_processes().unwrap_or_default());
                    processes.sort_by_key(|p| p.pid);
                    processes.dedup_by_key(|p| p.pid);
                    attributed(&processes, server_pids)
                };
                Some(GpuReading {
                    index: i,
                    memory_used_bytes: memory.used,
                    server_memory_bytes,
                    utilization_percent: d.utilization_rates().ok().map(|u| u.gpu),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(pid: u32, used: UsedGpuMemory) -> ProcessInfo {
        ProcessInfo {
            pid,
            used_gpu_memory: used,
            gpu_instance_id: None,
            compute_instance_id: None,
        }
    }

    #[test]
    fn attributes_only_the_servers_processes_with_known_memory() {
        let listed = [
            process(10, UsedGpuMemory::Used(3_000)),
            process(11, UsedGpuMemory::Used(500)),
            process(12, UsedGpuMemory::Unavailable),
            process(99, UsedGpuMemory::Used(7_000)),
        ];
        assert_eq!(attributed(&listed, &[10, 11, 12]), Some(3_500));
        assert_eq!(attributed(&listed, &[12]), None);
        assert_eq!(attributed(&listed, &[42]), None);
        assert_eq!(attributed(&[], &[10]), None);
    }

    #[test]
    fn a_machine_without_the_driver_has_no_gpu_rather_than_an_error() {
        use nvml_wrapper::error::NvmlError as E;
        let missing = E::FailedToLoadSymbol("nvmlInit_v2".into());
        assert_eq!(unavailable(&missing), "none found (no NVIDIA driver)");
        assert_eq!(
            unavailable(&E::DriverNotLoaded),
            "none found (the NVIDIA driver is not loaded)"
        );
        assert!(unavailable(&E::Unknown).starts_with("NVML unavailable: "));
    }
}
