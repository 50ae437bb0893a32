//go:build windows

package ossvc

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// soExclusiveAddrUse is SO_EXCLUSIVEADDRUSE (~SO_REUSEADDR): no other
// socket may bind the same port beside this one, not even a more specific
// address or one that sets SO_REUSEADDR.
const soExclusiveAddrUse = ^int(4) // ~SO_REUSEADDR (4)

func exclusiveControl(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = windows.SetsockoptInt(windows.Handle(fd), windows.SOL_SOCKET, soExclusiveAddrUse, 1)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_EXCLUSIVEADDRUSE: %w", serr)
	}
	return nil
}

// isAddrInUse: WSAEADDRINUSE, and WSAEACCES, which Windows answers when
// another socket holds the port exclusively.
func isAddrInUse(err error) bool {
	return errors.Is(err, windows.WSAEADDRINUSE) || errors.Is(err, windows.WSAEACCES)
}

var (
	iphlpapi            = windows.NewLazySystemDLL("iphlpapi.dll")
	getExtendedTcpTable = iphlpapi.NewProc("GetExtendedTcpTable")
)

const (
	tcpTableOwnerPIDListener = 3 // TCP_TABLE_OWNER_PID_LISTENER
	afInet                   = 2
	afInet6                  = 23
)

// portOwner names the process that listens on addr, from GetExtendedTcpTable.
func portOwner(addr string) string {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return ""
	}
	ip := net.ParseIP(host)
	family, rowSize := afInet, 24 // MIB_TCPROW_OWNER_PID
	if ip.To4() == nil {
		family, rowSize = afInet6, 56 // MIB_TCP6ROW_OWNER_PID
	}
	var size uint32
	_, _, _ = getExtendedTcpTable.Call(0, uintptr(unsafe.Pointer(&size)), 0, uintptr(family), tcpTableOwnerPIDListener, 0)
	if size == 0 {
		return ""
	}
	buf := make([]byte, size)
	r, _, _ := getExtendedTcpTable.Call(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0, uintptr(family), tcpTableOwnerPIDListener, 0)
	if r != 0 || len(buf) < 4 {
		return ""
	}
	n := int(*(*uint32)(unsafe.Pointer(&buf[0])))
	for i := 0; i < n; i++ {
		off := 4 + i*rowSize
		if off+rowSize > len(buf) {
			break
		}
		row := buf[off : off+rowSize]
		var localPort, pid uint32
		if family == afInet {
			// state, localAddr, localPort, remoteAddr, remotePort, owningPid
			localPort = uint32(row[8])<<8 | uint32(row[9])
			pid = *(*uint32)(unsafe.Pointer(&row[20]))
		} else {
			// localAddr[16], localScopeId, localPort, remoteAddr[16], remoteScopeId, remotePort, state, owningPid
			localPort = uint32(row[20])<<8 | uint32(row[21])
			pid = *(*uint32)(unsafe.Pointer(&row[52]))
		}
		if int(localPort) == port {
			return fmt.Sprintf("process %d (%s)", pid, processName(pid))
		}
	}
	return ""
}

func processName(pid uint32) string {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return "name not readable"
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_PATH)
	size := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &size); err != nil {
		return "name not readable"
	}
	return windows.UTF16ToString(buf[:size])
}
