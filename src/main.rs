//! The `lienthong` binary: a thin shell over the library's command line.

// The hub allocates a string per field of every record it translates; mimalloc keeps that
// cheap across worker threads (glibc's allocator was a quarter of the ingest profile).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    lienthong::cli::run()
}
