//! `cerulean`: the command line.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a request allocates many small, short-lived values (JSON maps, headers); the
/// system allocator spent ~18% of a bearer GET in malloc/free under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cerulean::cli::Cli::parse();
    match cli.command {
        cerulean::cli::Command::Serve(args) => {
            cerulean::logging::init(args.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cerulean: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(cerulean::serve::run_with(args, release_startup_memory)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "cerulean stopped");
                    eprintln!("cerulean: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        cerulean::cli::Command::Backup(args) => report(cerulean::backup::backup(&args)),
        cerulean::cli::Command::Restore(args) => report(cerulean::backup::restore(&args)),
        cerulean::cli::Command::Keys(args) => report(cerulean::keys::run(&args)),
        cerulean::cli::Command::Import(args) => report(block_on(cerulean::fixture::import(&args))),
        cerulean::cli::Command::Export(args) => report(block_on(cerulean::fixture::export(&args))),
        cerulean::cli::Command::ManagedIdentity(args) => report(block_on(cerulean::managed_identity::run(&args))),
        cerulean::cli::Command::HashRate(args) => report(cerulean::hash_rate::run(&args)),
    }
}

/// Hands the memory start-up freed back to the system. mimalloc purges freed pages lazily, on a
/// later allocation of the same heap, and an idle server makes none: the argon2id hash of the
/// bootstrap administrator's password (19 MiB), the parse of the permission catalogue and TLS
/// set-up stayed resident, so a fresh server idled at ~54 MiB against the 40 MB budget (issue
/// 8). `mi_collect(true)` purges the arenas' pending ranges now. The C libraries (SQLite's
/// schema parses and page caches, aws-lc) allocate from glibc's heap, which keeps what they
/// freed at start-up (about 1 MiB) until `malloc_trim` hands it back.
fn release_startup_memory() {
    // SAFETY: mi_collect takes no pointers and may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
    // SAFETY: malloc_trim only walks glibc's own free lists, under its arena locks.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Opts the process out of transparent huge pages. mimalloc asks for them on its arenas
/// (`madvise(MADV_HUGEPAGE)`), so with the kernel's usual `madvise` setting every 2 MiB of
/// arena the server touched became resident whole: an idle server held 4-16 MiB of huge
/// pages for a few MiB of live data, and khugepaged could grow that further while idle (issue
/// 8, idle RSS under 40 MB). The server's heap is small, so 4 KiB pages cost it nothing
/// measurable. The flag is the process's (`PR_SET_THP_DISABLE`), checked at every fault and
/// by khugepaged. It has to be set before mimalloc's own constructor runs: mimalloc's first
/// allocations, made before `main`, already faulted in 4-6 MiB of huge pages that setting it
/// in `main` could no longer undo. A constructor of a lower priority number runs first (both
/// gcc's unprioritised and clang's priority-101 `constructor` come after it).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array.00100")]
static DISABLE_TRANSPARENT_HUGE_PAGES: extern "C" fn() = disable_transparent_huge_pages;

#[cfg(target_os = "linux")]
extern "C" fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and allocates nothing; a
    // refusal (an old kernel) leaves the process as it was, which is harmless.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Runs an operations command's future on a runtime of its own.
fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, cerulean::ServerError>>,
) -> Result<T, cerulean::ServerError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| cerulean::ServerError::Config(format!("cannot start the runtime: {e}")))?
        .block_on(future)
}

/// Prints what an operations command did, or why it did nothing.
fn report(result: Result<String, cerulean::ServerError>) -> ExitCode {
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cerulean: {e}");
            ExitCode::FAILURE
        }
    }
}
