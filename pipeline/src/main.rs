//! The `skolegang` binary: everything lives in the library; see cli.rs.

fn main() -> std::process::ExitCode {
    let code = skolegang::cli::main_with(std::env::args_os());
    std::process::ExitCode::from(code as u8)
}
