//! Keeping the server's resident memory to what its work needs.

/// glibc raises its mmap threshold whenever a large mmapped block is freed, so the 19 MiB
/// block of each argon2 password hash (sign-in, password change) is later taken from the
/// heap and stays resident for good: the server went from 22 MB to 41 MB at its first
/// sign-in. A fixed threshold keeps large blocks mmapped, and freeing one returns it to
/// the system. Call once, first thing in `main`.
///
/// The threshold is 4 MiB, not glibc's 128 KiB starting point: at 128 KiB the buffers of
/// every complaint post were mmapped and unmapped, and the unmaps' TLB shootdowns across
/// cores (`smp_call_function_many_cond` in a profile under load) cost the HTTP threads
/// more than any of their own work.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; it is called before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    }
}
