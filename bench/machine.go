package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// machineInfo describes where the benchmark ran.
type machineInfo struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	GoVersion  string `json:"go_version"`
	MemTotalMB int64  `json:"mem_total_mb"`
	Kernel     string `json:"kernel"`
	DataFS     string `json:"data_fs"`
}

func readMachine(dataDir string) machineInfo {
	m := machineInfo{
		CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		GoVersion: runtime.Version(), CPUModel: "unknown",
	}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPUModel = v
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		m.MemTotalMB = kbField(v) / 1024
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.DataFS = fsType(dataDir)
	return m
}

func (m machineInfo) String() string {
	return fmt.Sprintf("%d CPUs (%s), %s/%s, %s, %d MiB RAM, kernel %s; data dir on %s",
		m.CPUs, m.CPUModel, m.OS, m.Arch, m.GoVersion, m.MemTotalMB, m.Kernel, m.DataFS)
}

// procField is the value of the first "name: value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// kbField parses "123456 kB".
func kbField(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
	return n
}

// fsType names the file system holding dir: fsync on tmpfs costs nothing,
// so a result on tmpfs would not be a durable-ingestion result.
func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "unknown file system"
	}
	switch uint64(st.Type) {
	case 0xEF53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x01021994:
		return "tmpfs (fsync is free: NOT representative)"
	case 0x794c7630:
		return "overlayfs"
	case 0x2FC12FC1:
		return "zfs"
	}
	return fmt.Sprintf("file system 0x%x", uint64(st.Type))
}

// procMem is a process's resident memory now and at its peak, in KiB.
func procMem(pid int) (rss, peak int64) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	return kbField(procField(path, "VmRSS")), kbField(procField(path, "VmHWM"))
}

// procCPU is the CPU time (user+system) a process has used so far.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; the fields after it are
	// counted from its closing parenthesis. utime and stime are fields 14
	// and 15, in clock ticks (USER_HZ, 100 on Linux).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * (time.Second / 100)
}

// selfCPU is the CPU time this process (the load generator) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var readyIn = regexp.MustCompile(`ready in ([0-9.]+[a-zµ]+)`)

// startupTime is the "ready in …" the server printed.
func startupTime(output string) time.Duration {
	m := readyIn.FindStringSubmatch(output)
	if m == nil {
		return 0
	}
	d, _ := time.ParseDuration(m[1])
	return d
}

// cpuBusy is the CPU time all processes on the machine have used so far
// (every mode but idle and iowait), from /proc/stat.
func cpuBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * (time.Second / 100)
}

// fsyncProbe writes and fsyncs a 4 KiB block n times in dir and returns the
// median and worst time of one write+fsync: the floor under every commit.
func fsyncProbe(dir string, n int) (p50, worst time.Duration, err error) {
	f, err := os.CreateTemp(dir, "fsync-probe-")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	block := make([]byte, 4096)
	times := make([]time.Duration, n)
	for i := range times {
		t0 := time.Now()
		if _, err := f.WriteAt(block, int64(i%16)*4096); err != nil {
			return 0, 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, 0, err
		}
		times[i] = time.Since(t0)
	}
	slices.Sort(times)
	return times[n/2], times[n-1], nil
}
