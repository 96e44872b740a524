//! The holder: what a copy's target container runs instead of its application. Pure.
//!
//! Debug by copy keeps the target container's image, environment, volumes and user, and
//! replaces only its command, so that the container runs without the application and its
//! filesystem can be read through `/proc/PID/root`. The replacement must exist in the target's
//! own filesystem, and a distroless image has no shell and no `sleep`. So the plugin brings one:
//! a static program of 129 bytes that waits for a signal forever, written into an `emptyDir` by
//! an init container of ours (the toolbox image, `sh` and `printf`, see [`install_script`]) and
//! mounted read-only into the target container, whose command becomes [`HOLDER_PATH`].
//!
//! The program is a Linux ELF executable with one loadable segment and no library, dynamic
//! loader or libc: it makes the `pause` system call in a loop (x86-64). Any signal whose default
//! action ends a process ends it (SIGTERM from the kubelet included): in the copy it is never
//! PID 1, since the copy shares one process namespace whose PID 1 is the pod's pause process.
//! Other architectures are refused by the init container, which says which one it found
//! ([`unsupported_message`]).
//!
//! Alternatives weighed: the pause image's `/pause` (static, on every node) cannot be copied
//! out of its image by anything in the pod without image volumes (off by default, not in
//! containerd 1.6); a toolbox's own `sleep` or `busybox` is static only in some toolboxes
//! (busybox:musl, netshoot and Debian-based ones link it dynamically, and a distroless target
//! has no loader for it).

/// The init container of ours that writes the holder into the copy.
pub(crate) const HOLDER_INIT: &str = "distroless-debug-holder";

/// Where the holder appears in the target container of a copy (a read-only `emptyDir`).
pub(crate) const HOLDER_DIR: &str = "/.distroless-debug";

/// The holder program's path in the target container.
pub(crate) const HOLDER_PATH: &str = "/.distroless-debug/hold";

/// The `emptyDir` volume that carries it.
pub(crate) const HOLDER_VOLUME: &str = "distroless-debug-holder";

/// Virtual address of the loaded segment: the customary base of a non-PIE x86-64 executable.
const BASE: u64 = 0x40_0000;

/// ELF header (64 bytes) and one program header (56 bytes) come before the code.
const HEADERS: u64 = 64 + 56;

/// The holder's code, x86-64:
///
/// ```text
/// loop: mov eax, 34    ; b8 22 00 00 00   the pause system call's number
///       syscall        ; 0f 05            sleeps until a signal is delivered
///       jmp loop       ; eb f7            -9 bytes: back to mov
/// ```
const X86_64_CODE: [u8; 9] = [0xb8, 0x22, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xeb, 0xf7];

/// `e_machine` of x86-64 (EM_X86_64).
const EM_X86_64: u16 = 62;

/// The holder program for x86-64: an ELF64 little-endian executable (`ET_EXEC`) whose single
/// `PT_LOAD` segment (read and execute) maps the whole file at [`BASE`]; the entry point is the
/// first byte after the headers. Pure.
pub(crate) fn program() -> Vec<u8> {
    let code = &X86_64_CODE;
    let size = HEADERS + code.len() as u64;
    let mut elf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV, padding.
    elf.extend_from_slice(b"\x7fELF");
    elf.extend_from_slice(&[2, 1, 1, 0]);
    elf.extend_from_slice(&[0; 8]);
    elf.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    elf.extend_from_slice(&EM_X86_64.to_le_bytes()); // e_machine
    elf.extend_from_slice(&1u32.to_le_bytes()); // e_version
    elf.extend_from_slice(&(BASE + HEADERS).to_le_bytes()); // e_entry
    elf.extend_from_slice(&64u64.to_le_bytes()); // e_phoff: right after this header
    elf.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no sections
    elf.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    elf.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    elf.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    elf.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    elf.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
    // The program header.
    elf.extend_from_slice(&1u32.to_le_bytes()); // p_type: PT_LOAD
    elf.extend_from_slice(&5u32.to_le_bytes()); // p_flags: PF_R | PF_X
    elf.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    elf.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    elf.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    elf.extend_from_slice(&size.to_le_bytes()); // p_filesz
    elf.extend_from_slice(&size.to_le_bytes()); // p_memsz
    elf.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    elf.extend_from_slice(code);
    elf
}

/// `bytes` as a `printf` format that writes exactly them: every byte as an octal escape
/// (POSIX `printf` takes `\ddd`; dash, bash and busybox write NUL bytes too). Pure.
pub(crate) fn printf_format(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "\\{b:o}");
        s
    })
}

/// What the init container says on a node whose architecture has no holder.
pub(crate) fn unsupported_message() -> &'static str {
    "debug by copy holds the target with a program for x86_64 only; this node is "
}

/// The init container's script (POSIX sh, run by the toolbox image): writes the holder into
/// the volume mounted at [`HOLDER_DIR`] and makes it executable, or, on another architecture,
/// says which in the termination message and fails. Pure.
pub(crate) fn install_script() -> String {
    format!(
        "# distroless-debug holder: writes {HOLDER_PATH} for the copy's target container\n\
         case $(uname -m) in\n\
         x86_64 | amd64) printf '{}' >{HOLDER_PATH} && chmod 0755 {HOLDER_PATH} ;;\n\
         *) printf '{}%s' \"$(uname -m)\" >/dev/termination-log; exit 1 ;;\n\
         esac\n",
        printf_format(&program()),
        unsupported_message()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    fn u64_at(b: &[u8], at: usize) -> u64 {
        let mut a = [0; 8];
        a.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(a)
    }

    #[test]
    fn the_program_is_one_loadable_segment_whose_entry_is_the_code() {
        let p = program();
        assert_eq!(p.len(), 129);
        assert_eq!(&p[..4], b"\x7fELF");
        assert_eq!(p[4], 2, "64-bit");
        assert_eq!(p[5], 1, "little-endian");
        assert_eq!(u16_at(&p, 16), 2, "ET_EXEC");
        assert_eq!(u16_at(&p, 18), EM_X86_64);
        assert_eq!(u64_at(&p, 24), BASE + 120, "entry");
        assert_eq!(u64_at(&p, 32), 64, "program headers right after");
        assert_eq!(u16_at(&p, 52), 64);
        assert_eq!(u16_at(&p, 54), 56);
        assert_eq!(u16_at(&p, 56), 1, "one program header");
        // PT_LOAD, R+X, the whole file at BASE.
        assert_eq!(&p[64..72], &[1, 0, 0, 0, 5, 0, 0, 0]);
        assert_eq!(u64_at(&p, 72), 0);
        assert_eq!(u64_at(&p, 80), BASE);
        assert_eq!(u64_at(&p, 96), 129);
        assert_eq!(u64_at(&p, 104), 129);
        assert_eq!(&p[120..], &X86_64_CODE);
        // The jump goes back to the first instruction.
        let after_jump = i64::try_from(X86_64_CODE.len()).unwrap();
        let displacement = i64::from(X86_64_CODE[8].cast_signed());
        assert_eq!(after_jump + displacement, 0);
    }

    #[test]
    fn printf_format_escapes_every_byte() {
        assert_eq!(
            printf_format(&[0, 7, 8, 0o177, 255]),
            "\\0\\7\\10\\177\\377"
        );
        assert!(
            printf_format(&program())
                .bytes()
                .all(|b| b == b'\\' || b.is_ascii_digit())
        );
    }

    /// The install script, run by every POSIX shell the toolboxes use, writes the program
    /// byte for byte, executable; and the program waits until a signal ends it.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn the_script_writes_a_program_that_holds_until_a_signal() {
        use std::os::unix::fs::PermissionsExt as _;
        use std::os::unix::process::ExitStatusExt as _;
        let dir = std::env::temp_dir().join(format!("dd-holder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = install_script().replace(HOLDER_DIR, &dir.display().to_string());
        let shells: Vec<&str> = ["sh", "dash", "bash", "busybox"]
            .into_iter()
            .filter(|s| {
                std::process::Command::new(s)
                    .args(["-c", "true"])
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .collect();
        assert!(shells.contains(&"sh"), "no sh");
        let hold = dir.join("hold");
        for shell in shells {
            let _ = std::fs::remove_file(&hold);
            let mut cmd = std::process::Command::new(shell);
            if shell == "busybox" {
                cmd.arg("sh");
            }
            let out = cmd.args(["-c", &script]).output().unwrap();
            assert!(out.status.success(), "{shell}: {out:?}");
            assert_eq!(std::fs::read(&hold).unwrap(), program(), "{shell}");
            let mode = std::fs::metadata(&hold).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755, "{shell}");
        }
        let mut child = std::process::Command::new(&hold).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(child.try_wait().unwrap().is_none(), "it holds");
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(15), "SIGTERM ends it");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
