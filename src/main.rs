//! The `lienthong` binary: a thin shell over the library's command line.

// The hub allocates a string per field of every record it translates; mimalloc keeps that
// cheap across worker threads (glibc's allocator was a quarter of the ingest profile).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // A reader that stops early (`lienthong units search Hà | head`) closes the pipe: end
    // quietly, as command-line tools do, instead of a panic on the next write.
    // SAFETY: called first, before any other thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    lienthong::cli::run()
}
