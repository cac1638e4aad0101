# The Debian package: `cmake --build BUILD --target package` makes
# BUILD/netnslink_<version>_amd64.deb from the same install rules as
# `cmake --install`, with prefix /usr whatever the build's own prefix is.
#
# Library dependencies are computed by dpkg-shlibdeps from the binaries
# (libbpf1, libsystemd0, libcap2, libmnl0, libc6 and their versions); the
# rest are what the daemon needs at run time that no binary links to: the
# system bus, systemd as the service manager, and deb-systemd-helper and
# deb-systemd-invoke (init-system-helpers) for the maintainer scripts.

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "netnslink")
set(CPACK_PACKAGE_VENDOR "netnslink")
set(CPACK_PACKAGE_CONTACT "netnslink maintainers <netnslink@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "BPF links of network namespaces, kept by a daemon over D-Bus")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_INSTALL_PREFIX "/usr")
# The unit, the bus policy and the activation file install to absolute
# paths (systemd and dbus-daemon look only there): DESTDIR puts them in the
# package's tree instead of on this machine.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION_SUMMARY}
 netnslinkd owns the BPF programs attached to network namespaces through
 BPF links (sk_lookup and flow_dissector), pins every link in bpffs so that
 the kernel keeps running it while the daemon restarts, and serves the
 org.netnslink1 API on the system bus. netnslinkctl is its command line
 client. Built in: builtin:steer, a socket dispatcher for sk_lookup, and
 builtin:flow, a flow dissector.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "dbus, systemd, init-system-helpers (>= 1.54~)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_CURRENT_LIST_DIR}/deb/postinst;${CMAKE_CURRENT_LIST_DIR}/deb/prerm;${CMAKE_CURRENT_LIST_DIR}/deb/postrm")
# Maintainer scripts 0755 and control files 0644 whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
