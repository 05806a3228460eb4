//! The built-in reference server (`infer-bench sim`, `target: {builtin: sim}`).

mod model;
mod server;
mod state;
mod stream;
pub mod tokenizer;
mod truth;

pub use model::{speed_of, Fault, Faults, SimModel};
pub use server::{router, router_with, SimOptions};
pub use truth::Truth;

use axum::serve::ListenerExt;
use std::net::SocketAddr;
use tokio::sync::oneshot;

/// Serve until the process ends.
pub async fn serve(model: SimModel, addr: SocketAddr, options: SimOptions) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    crate::error::warn(format_args!(
        "infer-bench sim listening on http://{}/v1",
        listener.local_addr()?
    ));
    axum::serve(listener.tap_io(no_delay), router_with(model, options)).await
}

// Small SSE writes must leave at once: with Nagle's algorithm they wait for
// the previous segment's ACK and inter-token gaps gain tens of milliseconds.
fn no_delay(stream: &mut tokio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
}

/// A sim on its own thread and runtime, so its timers do not share a worker
/// with the load generator that measures it.
pub struct SimHandle {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimHandle {
    /// Start on 127.0.0.1 on a free port.
    pub fn start(model: SimModel) -> std::io::Result<SimHandle> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sim")
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("sim".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let _ = axum::serve(listener.tap_io(no_delay), router(model))
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })?;
        Ok(SimHandle {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
