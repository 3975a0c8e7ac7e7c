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
/// 8). `mi_collect(true)` purges the arenas' pending ranges now.
fn release_startup_memory() {
    // SAFETY: mi_collect takes no pointers and may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
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
