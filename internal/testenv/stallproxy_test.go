package testenv

import (
	"bufio"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStallProxyHoldsBytesUntilResumed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() { // an echo server
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	p := NewStallProxy(t, ln.Addr().String())
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	r := bufio.NewReader(c)
	_, err = c.Write([]byte("flowing\n"))
	require.NoError(t, err)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "flowing\n", line)

	p.Stall()
	_, err = c.Write([]byte("held\n"))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, err = r.ReadString('\n')
	require.True(t, errors.Is(err, os.ErrDeadlineExceeded), "nothing may come back while stalled, got %v", err)
	require.NoError(t, c.SetReadDeadline(time.Time{}))
	p.Resume()
	line, err = r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "held\n", line, "the held bytes arrive once resumed, connection intact")
}
