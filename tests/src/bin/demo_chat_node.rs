//! `demo-chat` itself (the same entry point as its binary), built with the tests so that the
//! multi-node tests can start nodes as real processes: `demo_chat_node --port 0 --redis URL`.

fn main() -> std::process::ExitCode {
    demo_chat::cli::main()
}
