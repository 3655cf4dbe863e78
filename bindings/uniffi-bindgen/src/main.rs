//! `uniffi-bindgen`: generates the Kotlin, Swift and Python bindings from the built
//! `vigil-ffi` library (library mode). A binary of our own so that the generator is
//! always the uniffi version the library was built with.

fn main() {
    uniffi::uniffi_bindgen_main()
}
