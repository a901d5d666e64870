package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// EnvPrefix is prepended to every flag's environment variable name.
const EnvPrefix = "PODKIT_"

// EnvName is the environment variable that sets a flag: PODKIT_ + upper case,
// dashes to underscores (--shutdown-timeout -> PODKIT_SHUTDOWN_TIMEOUT).
func EnvName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// EnvAlias is a command annotation naming a second env prefix its flags
// are read from when PODKIT_* is unset: a drop-in for another tool keeps
// that tool's variables (gitsync reads GITSYNC_*, as kubernetes/git-sync).
const EnvAlias = "podkit.env-alias"

// skipEnv lists flags that make no sense from the environment.
var skipEnv = map[string]bool{"help": true}

// BindEnv sets every flag of cmd that was not given on the command line from
// its PODKIT_* variable, so flags win over env. Repeatable flags (string
// arrays) take one value per line, since commas may be part of a value.
// lookup is os.LookupEnv outside tests.
func BindEnv(cmd *cobra.Command, lookup func(string) (string, bool)) error {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || skipEnv[f.Name] {
			return
		}
		name := EnvName(f.Name)
		val, ok := lookup(name)
		if alias := cmd.Annotations[EnvAlias]; !ok && alias != "" {
			name = alias + strings.TrimPrefix(name, EnvPrefix)
			val, ok = lookup(name)
		}
		if !ok {
			return
		}
		values := []string{val}
		if strings.HasSuffix(f.Value.Type(), "Array") {
			values = strings.Split(strings.TrimRight(val, "\n"), "\n")
		}
		for _, v := range values {
			if serr := cmd.Flags().Set(f.Name, v); serr != nil {
				err = &UsageError{Err: fmt.Errorf("$%s (--%s): %w", name, f.Name, serr)}
				return
			}
		}
	})
	return err
}

// AnnotateEnv appends "[$PODKIT_X]" to the usage of every flag in the tree,
// as kubernetes/git-sync's manual does, so --help shows the env name.
func AnnotateEnv(root *cobra.Command) {
	seen := map[*pflag.Flag]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		annotate := func(f *pflag.Flag) {
			if seen[f] || skipEnv[f.Name] {
				return
			}
			seen[f] = true
			name := EnvName(f.Name)
			if alias := c.Annotations[EnvAlias]; alias != "" {
				name += ", $" + alias + strings.TrimPrefix(name, EnvPrefix)
			}
			f.Usage += " [$" + name + "]"
		}
		c.LocalFlags().VisitAll(annotate)
		c.PersistentFlags().VisitAll(annotate)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
