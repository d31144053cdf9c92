//! The `nodectl` binary: everything lives in the library; this only hands over the process and picks
//! the allocator.

// mimalloc instead of glibc malloc: the runtime and the HTTP servers allocate many small, short-lived
// values per request, and glibc's arena locks and consolidation showed up as ~20 % of `serve`'s CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    nodectl::cli::main()
}
