//! The `preflight` binary: parses the command line and hands over to the library.

/// mimalloc instead of glibc's malloc: parsing a large manifest makes millions of small allocations, and
/// glibc spent about a third of a 10,000-service check in malloc, free and `malloc_consolidate`
/// (see the README's benchmarks).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    preflight::commands::main(<preflight::cli::Cli as clap::Parser>::parse())
}
