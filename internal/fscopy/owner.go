package fscopy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/moby/sys/user"
)

// LookupOwner resolves a container's user ("", "name", "uid", "name:group",
// "uid:gid" …, as in the image config or the service's user:) against the
// /etc/passwd and /etc/group under root, the way runc does for the
// container's process: a numeric uid need not exist, a name must; the
// group defaults to the user's primary group, else 0.
func LookupOwner(root, spec string) (Owner, error) {
	passwd, err := openInRoot(root, "/etc/passwd")
	if err != nil {
		return Owner{}, err
	}
	if passwd != nil {
		defer passwd.Close()
	}
	group, err := openInRoot(root, "/etc/group")
	if err != nil {
		return Owner{}, err
	}
	if group != nil {
		defer group.Close()
	}
	u, err := user.GetExecUser(spec, &user.ExecUser{}, readerOrNil(passwd), readerOrNil(group))
	if err != nil {
		return Owner{}, fmt.Errorf("user %q in the container: %w", spec, err)
	}
	return Owner{UID: u.Uid, GID: u.Gid}, nil
}

// openInRoot opens a file of the container for reading; a missing one is
// nil.
func openInRoot(root, name string) (*os.File, error) {
	h, err := pathrs.OpenInRoot(root, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s in the container: %w", name, err)
	}
	defer h.Close()
	f, err := pathrs.Reopen(h, os.O_RDONLY|syscall.O_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("open %s in the container: %w", name, err)
	}
	return f, nil
}

// readerOrNil keeps a nil *os.File from becoming a non-nil io.Reader.
func readerOrNil(f *os.File) io.Reader {
	if f == nil {
		return nil
	}
	return f
}
