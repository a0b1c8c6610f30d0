//! The `preflight` binary: parses the command line and hands over to the library.

/// mimalloc instead of glibc's malloc: parsing a large manifest makes millions of small allocations, and
/// glibc spent about a third of a 10,000-service check in malloc, free and `malloc_consolidate`
/// (see the README's benchmarks).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_e` (the bindings name no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // Memory freed during a run is kept for reuse instead of being handed back to the OS after 10 ms
    // (mimalloc's default): a check allocates in waves (the parse, the rules, the report), and every
    // page handed back and touched again is zeroed again by the kernel. Measured: 10,000 services
    // static 96 -> 91 ms, the fleet benchmark 296-307 -> 284-296 ms, its peak RSS +2-3 MiB. The
    // process is short-lived; what it keeps goes back at exit.
    // SAFETY: `mi_option_set` only stores an integer in mimalloc's option table; any value is valid
    // for this option (-1: never purge).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    // Except for large inputs, where memory, not time, is what runs short: from the first file of
    // 4 MiB or more on, freed memory goes back at once (the 10 MB Compose benchmark peaks at 268 MiB
    // instead of 373, in the same time).
    preflight::document::on_large_input(|| {
        // SAFETY: as above. mimalloc reads its options as plain words at each decision; another
        // thread reading this one as it changes sees the old or the new delay, either valid.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
        // And the memory touched from then on is backed by 4 KiB pages, not transparent huge pages:
        // mimalloc asks for THP on its arenas (reserved before `main`, so its own option comes too
        // late), and a 2 MiB page is resident whole for its first byte. The 10 MB benchmarks: peak
        // RSS 171.6 -> 165.5 MB (Compose) and 125.7 -> 117.6 MB (Kubernetes), 10 % slower (486 ->
        // 536 ms, 428 -> 475 ms). Smaller inputs keep THP (5-13 % faster; see the README).
        #[cfg(target_os = "linux")]
        // SAFETY: prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) only sets a flag on this process's memory
        // map (Linux 3.15 on); it takes no pointers. On a kernel without it the call fails with
        // EINVAL and nothing changes, so its result is not needed.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    });
    preflight::commands::main(<preflight::cli::Cli as clap::Parser>::parse())
}
