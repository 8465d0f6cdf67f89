use flowtrace_runtime::flowtrace;

// Every problem is reported, each at its own token.
#[flowtrace(skip(nope), redact(missing), max_arg_length = 0, sample = 2)]
const fn work(a: u8) -> u8 {
    a
}

fn main() {}
