//! The `authserver` binary: parses the command line and hands over to the library.

/// jemalloc returns freed memory to the system (argon2's 12 MiB buffers, bursts of
/// connections) instead of keeping the peak working set resident as glibc's allocator does.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Two arenas (two cores), background purging, freed pages returned within a second.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] =
    b"narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> std::process::ExitCode {
    authserver::cli::run()
}
