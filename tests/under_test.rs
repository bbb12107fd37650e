//! `skolegang` exactly as the real binary (pipeline/src/main.rs), built inside this
//! package so that the end-to-end tests can start it as a separate process.

fn main() -> std::process::ExitCode {
    let code = skolegang::cli::main_with(std::env::args_os());
    std::process::ExitCode::from(code as u8)
}
