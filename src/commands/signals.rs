//! SIGINT and SIGTERM once the trials are over. The runner answers them while
//! trials run; the report phase after it (minutes for a run of millions of
//! records), `report`, `compare` and `merge` answer them here: the report
//! stops at its next checkpoint, every file it finished stays, the one it
//! was writing is removed with its temporary name, and the command exits 1
//! as an interrupted run does. A second signal ends the process at once.

use super::output::note;
use infer_bench::error;

/// Run `work` (a report, a comparison) on a thread of its own while this
/// one waits for a signal. On one, the work is asked to stop and the
/// command fails with the signal and `after`, what the user can do next;
/// work that finished all the same keeps its result.
pub fn until_signal<T: Send>(
    after: &str,
    work: impl FnOnce() -> anyhow::Result<T> + Send,
) -> anyhow::Result<T> {
    let waiter = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::scope(|s| {
        let (done, result) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("report".into())
            .spawn_scoped(s, move || {
                let _ = done.send(work());
            })?;
        waiter.block_on(wait(result, after))
    })
}

async fn wait<T>(
    mut result: tokio::sync::oneshot::Receiver<anyhow::Result<T>>,
    after: &str,
) -> anyhow::Result<T> {
    let died = |_| anyhow::anyhow!("the report thread ended without a result (a bug)");
    let why = tokio::select! {
        r = &mut result => return r.unwrap_or_else(|e| Err(died(e))),
        why = infer_bench::runner::stop_signal() => why,
    };
    infer_bench::report::request_stop();
    note!("{why}: stopping the report (a second signal stops at once)");
    let finished = tokio::select! {
        r = &mut result => r.unwrap_or_else(|e| Err(died(e))),
        again = infer_bench::runner::stop_signal() => {
            error::warn(format_args!(
                "{again} again: stopped at once; a file being written may be left under a temporary name (.NAME.*.tmp)"
            ));
            std::process::exit(1);
        }
    };
    match finished {
        Ok(v) => Ok(v),
        Err(e) if e.chain().any(|c| c.is::<infer_bench::report::Stopped>()) => {
            Err(anyhow::anyhow!("{why}: {after}"))
        }
        Err(e) => Err(e.context(why)),
    }
}
