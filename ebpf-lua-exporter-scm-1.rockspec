-- The Lua half of ebpf-lua-exporter: the exporter modules and the built-in
-- decoders. `luarocks make --deps-mode=none` installs them; the C core finds
-- them on the default Lua path. spec/unit/rockspec_spec.lua checks that the
-- module lists below are exactly the files in lua/exporter and decoders.
rockspec_format = "3.0"
package = "ebpf-lua-exporter"
version = "scm-1"
source = { url = "git+file:///dev/null" }
description = {
  summary = "Prometheus exporter for custom eBPF metrics: the LuaJIT modules",
  detailed = "Config parsing, label decoders, histograms and exposition text "
    .. "for ebpf-lua-exporter, whose C core loads BPF objects and reads their maps.",
  license = "MIT",
}
dependencies = { "lua == 5.1", "lyaml" }
build = {
  type = "builtin",
  install = {
    lua = {
      ["exporter.abi"] = "lua/exporter/abi.lua",
      ["exporter.builtin"] = "lua/exporter/builtin.lua",
      ["exporter.cgroup_index"] = "lua/exporter/cgroup_index.lua",
      ["exporter.cgroup_id_map"] = "lua/exporter/cgroup_id_map.lua",
      ["exporter.cgroup_mounts"] = "lua/exporter/cgroup_mounts.lua",
      ["exporter.cgroup_paths"] = "lua/exporter/cgroup_paths.lua",
      ["exporter.cgroup_tree"] = "lua/exporter/cgroup_tree.lua",
      ["exporter.checker"] = "lua/exporter/checker.lua",
      ["exporter.clock"] = "lua/exporter/clock.lua",
      ["exporter.collect"] = "lua/exporter/collect.lua",
      ["exporter.config"] = "lua/exporter/config.lua",
      ["exporter.entry"] = "lua/exporter/entry.lua",
      ["exporter.debug_maps"] = "lua/exporter/debug_maps.lua",
      ["exporter.decoder_api"] = "lua/exporter/decoder_api.lua",
      ["exporter.decoders"] = "lua/exporter/decoders.lua",
      ["exporter.exposition"] = "lua/exporter/exposition.lua",
      ["exporter.fanotify"] = "lua/exporter/fanotify.lua",
      ["exporter.histogram"] = "lua/exporter/histogram.lua",
      ["exporter.kallsyms"] = "lua/exporter/kallsyms.lua",
      ["exporter.kind_counter"] = "lua/exporter/kind_counter.lua",
      ["exporter.kind_histogram"] = "lua/exporter/kind_histogram.lua",
      ["exporter.kinds"] = "lua/exporter/kinds.lua",
      ["exporter.label_cache"] = "lua/exporter/label_cache.lua",
      ["exporter.labels"] = "lua/exporter/labels.lua",
      ["exporter.landing"] = "lua/exporter/landing.lua",
      ["exporter.libc"] = "lua/exporter/libc.lua",
      ["exporter.log"] = "lua/exporter/log.lua",
      ["exporter.metric"] = "lua/exporter/metric.lua",
      ["exporter.name_table"] = "lua/exporter/name_table.lua",
      ["exporter.numfmt"] = "lua/exporter/numfmt.lua",
      ["exporter.pci_ids"] = "lua/exporter/pci_ids.lua",
      ["exporter.pcre2"] = "lua/exporter/pcre2.lua",
      ["exporter.processes"] = "lua/exporter/processes.lua",
      ["exporter.procfs"] = "lua/exporter/procfs.lua",
      ["exporter.names"] = "lua/exporter/names/init.lua",
      ["exporter.names.errno_amd64"] = "lua/exporter/names/errno_amd64.lua",
      ["exporter.names.errno_arm64"] = "lua/exporter/names/errno_arm64.lua",
      ["exporter.names.syscalls_amd64"] = "lua/exporter/names/syscalls_amd64.lua",
      ["exporter.names.syscalls_arm64"] = "lua/exporter/names/syscalls_arm64.lua",
      ["exporter.rows"] = "lua/exporter/rows.lua",
      ["exporter.selector"] = "lua/exporter/selector.lua",
      ["exporter.series"] = "lua/exporter/series.lua",
      ["exporter.targets"] = "lua/exporter/targets.lua",
      -- Built-in decoders sit next to exporter/decoders.lua, which finds them there.
      ["exporter.decoders.cgroup"] = "decoders/cgroup.lua",
      ["exporter.decoders.dname"] = "decoders/dname.lua",
      ["exporter.decoders.errno"] = "decoders/errno.lua",
      ["exporter.decoders.hex"] = "decoders/hex.lua",
      ["exporter.decoders.ifname"] = "decoders/ifname.lua",
      ["exporter.decoders.inet_ip"] = "decoders/inet_ip.lua",
      ["exporter.decoders.ksym"] = "decoders/ksym.lua",
      ["exporter.decoders.kstack"] = "decoders/kstack.lua",
      ["exporter.decoders.majorminor"] = "decoders/majorminor.lua",
      ["exporter.decoders.pci_class"] = "decoders/pci_class.lua",
      ["exporter.decoders.pci_device"] = "decoders/pci_device.lua",
      ["exporter.decoders.pci_subclass"] = "decoders/pci_subclass.lua",
      ["exporter.decoders.pci_vendor"] = "decoders/pci_vendor.lua",
      ["exporter.decoders.pid_command"] = "decoders/pid_command.lua",
      ["exporter.decoders.regexp"] = "decoders/regexp.lua",
      ["exporter.decoders.static_map"] = "decoders/static_map.lua",
      ["exporter.decoders.string"] = "decoders/string.lua",
      ["exporter.decoders.syscall"] = "decoders/syscall.lua",
      ["exporter.decoders.uint"] = "decoders/uint.lua",
    },
  },
}
