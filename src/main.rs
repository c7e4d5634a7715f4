//! The `authserver` binary: parses the command line and hands over to the library.
fn main() -> std::process::ExitCode {
    tune_allocator();
    authserver::cli::run()
}

/// argon2 allocates 19 MiB per verification on blocking threads; with glibc's defaults each
/// of those threads keeps its own arena and the dynamic mmap threshold grows until such
/// blocks are no longer returned to the system, so the resident size creeps up to
/// hundreds of MiB under load. Two arenas and a fixed mmap threshold keep it small.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}
