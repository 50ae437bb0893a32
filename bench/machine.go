package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machineInfo is what the figures were measured on.
type machineInfo struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	OS        string `json:"os"`
	Kernel    string `json:"kernel"`
	MemTotal  string `json:"mem_total"`
	DataDir   string `json:"data_dir"`
	FS        string `json:"filesystem"`
	Go        string `json:"go"`
	Commit    string `json:"commit"`
	Dirty     int    `json:"dirty_files"` // changed or new files in the working tree
	LoadStart string `json:"load_start"`  // /proc/loadavg: 1, 5, 15 minutes
	LoadEnd   string `json:"load_end"`
	// OtherCPU is how many cores other processes kept busy on average
	// during the run (all CPU time in /proc/stat less this process's and
	// its children's); negative when unknown.
	OtherCPU float64 `json:"other_cpu_cores"`
	// StoreDiff is `git status --short` and `git diff --stat` of
	// internal/store: the journal code measured, when it is not the commit's.
	StoreDiff string `json:"store_diff"`

	busy0, own0 float64 // CPU seconds at the start
	at0         time.Time
}

func machine(root, dataDir string) machineInfo {
	m := machineInfo{
		CPUs: runtime.NumCPU(), CPUModel: cpuModel(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		Kernel: firstLine("/proc/sys/kernel/osrelease"), MemTotal: memTotal(),
		DataDir: dataDir, FS: fsType(dataDir), Go: runtime.Version(), LoadStart: loadavg(),
		Commit: git(root, "rev-parse", "--short", "HEAD"),
	}
	if s := git(root, "status", "--porcelain"); s != "" {
		m.Dirty = len(strings.Split(s, "\n"))
	}
	m.busy0, m.own0, m.at0 = cpuBusy(), cpuOwn(), time.Now()
	return m
}

// finishMachine adds what is read at the end of the run.
func (m *machineInfo) finish(root string) {
	m.LoadEnd = loadavg()
	m.OtherCPU = -1
	if busy, own := cpuBusy(), cpuOwn(); busy >= 0 && own >= 0 && m.busy0 >= 0 && m.own0 >= 0 {
		m.OtherCPU = max(0, (busy-m.busy0)-(own-m.own0)) / time.Since(m.at0).Seconds()
	}
	st := git(root, "status", "--short", "--", "internal/store")
	diff := git(root, "diff", "--stat", "--", "internal/store")
	m.StoreDiff = strings.Trim(st+"\n"+diff, "\n")
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return "n/a"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			f := strings.Fields(v) // "24683620 kB"
			if kb, err := strconv.ParseFloat(f[0], 64); err == nil && len(f) == 2 && f[1] == "kB" {
				return strconv.FormatFloat(kb/(1<<20), 'f', 1, 64) + " GiB"
			}
			return strings.TrimSpace(v)
		}
	}
	return "n/a"
}

func loadavg() string {
	f := strings.Fields(firstLine("/proc/loadavg"))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "n/a"
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// git runs git in root and returns its output without the final newlines,
// or "" when it fails (no git, not a clone).
func git(root string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimRight(string(out), "\n")
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux port Go supports.
const clockTicks = 100

// cpuBusy is the CPU time, in seconds, all cores spent busy since boot; -1
// when unknown.
func cpuBusy() float64 {
	f := strings.Fields(firstLine("/proc/stat")) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return -1
	}
	var busy float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return -1
		}
		busy += v
	}
	return busy / clockTicks
}

// cpuOwn is the CPU time, in seconds, of this process and its waited-for
// children (the bridged daemons, go build); -1 when unknown.
func cpuOwn() float64 {
	t, ok := procTimes("self")
	if !ok {
		return -1
	}
	return t.user + t.sys + t.childUser + t.childSys
}

// cpuTimes are a process's CPU times in seconds.
type cpuTimes struct{ user, sys, childUser, childSys float64 }

// procTimes reads /proc/<pid>/stat (pid "self" for this process).
func procTimes(pid string) (cpuTimes, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return cpuTimes{}, false
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return cpuTimes{}, false
	}
	f := strings.Fields(string(b)[i+1:]) // f[0] is field 3 (state); utime is field 14
	if len(f) < 15 {
		return cpuTimes{}, false
	}
	var v [4]float64
	for k := range v {
		x, err := strconv.ParseFloat(f[11+k], 64) // utime stime cutime cstime
		if err != nil {
			return cpuTimes{}, false
		}
		v[k] = x / clockTicks
	}
	return cpuTimes{user: v[0], sys: v[1], childUser: v[2], childSys: v[3]}, true
}
