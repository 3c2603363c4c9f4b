//! Entry point; everything lives in the library so tests can call it.

fn main() {
    std::process::exit(batch_generate::main(std::env::args_os()));
}
