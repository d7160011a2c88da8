# Sourced by scripts/windows.sh, scripts/targets.sh and scripts/msrv.sh: a
# Rust toolchain from Debian's packages, unpacked into a folder of its own.
#
# Why Debian's: rustup cannot fetch other targets' standard libraries or the
# `rust-src` component on the CI machines, but Debian's `rust-web-src` carries
# std's sources, from which `-Zbuild-std` builds std for any target (the
# sources must match the compiler exactly, so the whole toolchain comes from
# the same Debian version). Debian's archive also keeps an older `rustc-web`,
# the oldest Rust that can be had here (the MSRV check).
#
# Why unpacked (`dpkg -x`) rather than installed: two versions side by side,
# and the machine's own `rustc`/`cargo` (rustup's, or a Debian one someone
# installed) stay as they are. Only the shared libraries the compiler links
# (LLVM, libgit2...) are installed with apt, as ordinary packages.
#
# Idempotent: a toolchain already unpacked (its `.complete` marker) is reused.

# Where the unpacked toolchains, the Wine prefix and the scratch copies live.
# Everything there is rebuilt from Debian's archive when missing.
: "${ATEXIT_CROSS_DIR:=${HOME}/.cache/atexit-cross}"

# The targets CI type-checks but cannot run (scripts/targets.sh, and
# scripts/msrv.sh at the declared rust-version).
ATEXIT_CROSS_TARGETS=(x86_64-pc-windows-gnu x86_64-apple-darwin aarch64-apple-darwin
    x86_64-unknown-freebsd x86_64-unknown-linux-musl)

# apt-get update, at most once per CI run.
apt_updated=
apt_update_once() {
    if [ -z "$apt_updated" ]; then
        apt-get update -qq
        apt_updated=1
    fi
}

# Installs the named Debian packages that are not installed yet.
apt_install() {
    local missing=()
    local package
    for package in "$@"; do
        if ! dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_update_once
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

# Unpacks Debian's Rust whose version starts with `$1` (`1.85.`, or empty for
# the newest the archive has) into `$ATEXIT_CROSS_DIR/rust-<version>` with
# clippy and std's sources, and puts it first on PATH for this shell, with
# `RUSTC_BOOTSTRAP=1` (for `-Zbuild-std`). Sets `DEBIAN_RUST` to its root.
use_debian_rust() {
    local wanted="$1"
    # The versions the archive offers, newest first: `1.96.0+dfsg1-1~deb12u2`.
    local version
    version=$(apt-cache madison rustc-web | awk -v want="$wanted" '$3 ~ "^" want { print $3; exit }')
    if [ -z "$version" ]; then
        apt_update_once
        version=$(apt-cache madison rustc-web | awk -v want="$wanted" '$3 ~ "^" want { print $3; exit }')
    fi
    if [ -z "$version" ]; then
        echo "Debian's archive has no rustc-web ${wanted}*" >&2
        return 1
    fi
    local short=${version%%+*}       # 1.96.0
    local series=${short%.*}         # 1.96
    local root="$ATEXIT_CROSS_DIR/rust-$short"
    if [ ! -e "$root/.complete" ]; then
        rm -rf "$root" "$root.debs"
        mkdir -p "$root.debs"
        # `apt-get download` runs as the `_apt` user where it can: give it a
        # folder it may write.
        chmod 777 "$root.debs"
        (
            cd "$root.debs"
            apt-get download -qq "rustc-web=$version" "cargo-web=$version" \
                "rust-web-src=$version" "rust-web-clippy=$version" \
                "libstd-rust-web-$series=$version" "libstd-rust-web-dev=$version"
        )
        local deb
        for deb in "$root.debs"/*.deb; do
            dpkg -x "$deb" "$root"
        done
        # The shared libraries the compiler and cargo link (LLVM, libgit2,
        # curl...): every dependency that is not one of the Rust packages.
        local needs
        needs=$(for deb in "$root.debs"/*.deb; do dpkg-deb -f "$deb" Depends; done |
            tr ',' '\n' | sed 's/|.*//; s/(.*//; s/[[:space:]]//g' |
            grep -vE '^(rustc-web|cargo-web|libstd-rust-web|rust-web|gcc|binutils|clang|libc-dev|libc6-dev)' |
            grep -v '^$' | sort -u)
        # shellcheck disable=SC2086
        apt_install $needs gcc libc6-dev
        rm -rf "$root.debs"
        touch "$root/.complete"
    fi
    DEBIAN_RUST="$root"
    export PATH="$root/usr/bin:$PATH"
    # The compiler finds its own sysroot (and std's sources) next to itself,
    # but the dynamic loader must be told where its `librustc_driver` is.
    export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export RUSTC_BOOTSTRAP=1
    # rustup's proxies, if any, must not pick the toolchain.
    unset RUSTUP_TOOLCHAIN
    export RUSTC="$root/usr/bin/rustc" RUSTDOC="$root/usr/bin/rustdoc"
}
