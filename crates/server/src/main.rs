use std::process::ExitCode;

fn main() -> ExitCode {
    release_large_allocations();
    portcullis::cli::main()
}

/// Argon2 allocates 12 MiB per password hash. glibc raises its mmap
/// threshold after the first such block is freed and keeps later ones in
/// its heaps, so a burst of logins would leave hundreds of MiB resident.
/// A fixed threshold keeps large blocks in their own mappings, returned to
/// the system when freed.
fn release_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}
