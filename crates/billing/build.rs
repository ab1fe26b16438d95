fn main() {
    // a new migration must never be silently missing from the binary
    println!("cargo:rerun-if-changed=../../migrations");
}
