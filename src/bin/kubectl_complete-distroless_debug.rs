//! `kubectl_complete-distroless_debug`: kubectl's plugin completion (kubectl ≥ 1.26) runs it
//! with the words typed after `kubectl distroless-debug`, the last one being completed. It
//! prints candidates, one a line, then cobra's `:DIRECTIVE` line; never anything on stderr,
//! and always exit status 0. See `src/run/complete.rs`.

use distroless_debug::{Live, Printer, complete};

fn main() {
    let words: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let reply = complete(&words, &Live);
    Printer::new(true).data(reply.render().as_bytes());
}
