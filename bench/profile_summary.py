"""Where the CPU went, from folded stacks (inferno-collapse-perf --kernel).

Each sample is charged to one category by its innermost frame (self time),
so the shares add up to 100 %. Usage: python3 bench/profile_summary.py FILE.folded
"""

import collections
import sys

# First match wins; tested against the innermost frame, lower-cased.
CATEGORIES = [
    ("signing and hashing (ring: P-256, Ed25519, RSA, SHA-2)",
     ("ring_core", "ecp_nistz256", "nistz256", "sha256_block", "sha512_block", "x25519", "ed25519",
      "bn_mul_mont", "rsaz", "ring::")),
    ("password hashing (Argon2id)", ("argon2", "blake2")),
    ("memory allocator (glibc malloc/free, memcpy)",
     ("malloc", "free", "_int_", "tcache", "unlink_chunk", "memcpy", "memmove", "memset", "cfree", "realloc")),
    ("JSON (serde_json)", ("serde_json",)),
    ("HTTP (hyper, http, axum, tower)", ("hyper", "http::", "axum", "tower", "httparse", "h1::")),
    ("async runtime (tokio, mio)", ("tokio", "mio::")),
    ("database driver (sqlx, SQLite)", ("sqlx", "sqlite3", "libsqlite")),
    ("logging (tracing)", ("tracing",)),
    ("Portcullis code", ("portcullis",)),
]


def summarize(lines):
    totals = collections.Counter()
    all_samples = 0
    for line in lines:
        stack, _, n = line.rstrip("\n").rpartition(" ")
        if not stack or not n.isdigit():
            continue
        n = int(n)
        all_samples += n
        frames = stack.split(";")
        leaf = frames[-1]
        if leaf.endswith("_[k]"):
            syscall = any(f.startswith("entry_SYSCALL") for f in frames)
            cat = ("kernel, in system calls (socket reads/writes, epoll, futex)" if syscall
                   else "kernel, outside system calls (interrupts, TCP delivery, scheduling)")
        else:
            low = leaf.lower()
            cat = next((name for name, keys in CATEGORIES if any(k in low for k in keys)),
                       "other user space (std, libc, the rest)")
        totals[cat] += n
    return all_samples, totals


def main(path):
    with open(path, errors="replace") as f:
        total, totals = summarize(f)
    if not total:
        print("no samples")
        return
    for cat, n in totals.most_common():
        print(f"{100 * n / total:5.1f} %  {cat}")


if __name__ == "__main__":
    main(sys.argv[1])
