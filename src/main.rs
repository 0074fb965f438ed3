//! `flaskrs-host`: the command line of the flaskrs library.

/// jemalloc, with the small per-thread caches set in `.cargo/config.toml`:
/// with glibc's allocator the host's memory kept growing for minutes under
/// steady load, each of its many threads filling a cache of its own (see
/// `bench/soak/RESULTS.md`).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    std::process::exit(flaskrs::cli::main(std::env::args_os()));
}
