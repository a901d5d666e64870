package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/podkit/podkit/internal/cli"
)

func newInstallCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "install DEST",
		Short: "Copy this podkit binary to DEST, for an init container to share it with the app container",
		Long: `install copies the running podkit binary to the file DEST (mode 0755) through a
temporary file in DEST's directory and a rename, so a container never sees a
half-written binary. An existing file is replaced; a directory is refused.

In Kubernetes, an init container running the podkit image installs it into an
emptyDir that the app container mounts too; the app container's command then
becomes '/podkit/podkit run -- app ...'.`,
		Example: `  podkit install /podkit/podkit`,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			src, err := os.Executable()
			if err != nil {
				return fmt.Errorf("install: find own binary: %w", err)
			}
			dest := args[0]
			// Stat, not Lstat: a symbolic link to a directory is refused too,
			// rather than replaced by the binary.
			if st, err := os.Stat(dest); err == nil && st.IsDir() {
				return &cli.UsageError{Err: fmt.Errorf("DEST %s is a directory: give the file to create, e.g. %s", dest, filepath.Join(dest, "podkit"))}
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("install: %w", err)
			}
			if err := copyAtomic(src, dest); err != nil {
				return fmt.Errorf("install: %w", err)
			}
			a.log.Info("installed", "dest", dest)
			return nil
		},
	}
}

// copyAtomic copies src to dest via a temporary file in dest's directory
// (rename is atomic only within a file system) and fsyncs both.
func copyAtomic(src, dest string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	dir := filepath.Dir(dest)
	tmp, err := os.CreateTemp(dir, ".podkit-install-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, in); err != nil {
		return err
	}
	if err = tmp.Chmod(0o755); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), dest); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
