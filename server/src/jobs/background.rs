//! Running the worker's blocking work behind the requests when the CPU is short.

use std::cell::Cell;

/// Runs `f` on a blocking thread with a lower CPU priority (nice raised by 10). When the machine is
/// saturated, the work of taking complaints in (the HTTP threads and the intake writer)
/// goes first and the outbox's rendering, files and bookkeeping wait: its mails are
/// already durable in the outbox and go out as soon as the rush leaves CPU free. On a
/// machine with CPU to spare, a nice value changes nothing.
pub async fn spawn_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || {
        behind_requests();
        f()
    })
    .await
}

/// Lowers this thread's priority, once per thread (tokio reuses its blocking threads).
fn behind_requests() {
    thread_local!(static LOWERED: Cell<bool> = const { Cell::new(false) });
    if LOWERED.with(|lowered| lowered.replace(true)) {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: get/setpriority read no memory of ours; on Linux, PRIO_PROCESS with 0 is
    // the calling thread alone. Failing (not allowed) leaves the priority as it was.
    unsafe {
        let now = libc::getpriority(libc::PRIO_PROCESS, 0);
        libc::setpriority(libc::PRIO_PROCESS, 0, (now + 10).min(19));
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn work_runs_behind_requests_and_returns_its_value() {
        // SAFETY: getpriority reads no memory of ours.
        let before = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let (value, nice) = super::spawn_blocking(|| {
            // SAFETY: getpriority reads no memory of ours.
            let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
            (42, nice)
        })
        .await
        .unwrap();
        assert_eq!(value, 42);
        assert_eq!(nice, (before + 10).min(19));
    }
}
