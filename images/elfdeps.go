package images

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// runtimeFile is a file the berth binary needs at run time besides itself:
// its ELF interpreter or a shared library. path is where the dynamic loader
// looks for it (and where it goes in the image); source is the real file on
// this machine with symlinks resolved.
type runtimeFile struct {
	path   string
	source string
}

// errNotFound marks a shared library that none of the library directories hold.
var errNotFound = errors.New("not found in the library directories")

// runtimeFiles lists what a dynamically linked binary (one built with cgo)
// needs to run in an image that holds nothing else: its interpreter and,
// transitively, every DT_NEEDED library. A statically linked binary needs
// nothing and gets an empty list.
func runtimeFiles(binary string) ([]runtimeFile, error) {
	f, err := elf.Open(binary)
	if err != nil {
		return nil, fmt.Errorf("read ELF headers of %s: %w", binary, err)
	}
	defer f.Close()

	interp, err := interpreter(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", binary, err)
	}
	if interp == "" {
		return nil, nil
	}

	var files []runtimeFile
	seen := map[string]bool{}
	add := func(path string) error {
		if seen[path] {
			return nil
		}
		seen[path] = true
		src, err := filepath.EvalSymlinks(path)
		if err != nil {
			return fmt.Errorf("resolve %s: %w", path, err)
		}
		files = append(files, runtimeFile{path: path, source: src})
		return nil
	}
	if err := add(interp); err != nil {
		return nil, err
	}

	dirs := libraryDirs(f)
	queue, err := f.ImportedLibraries()
	if err != nil {
		return nil, fmt.Errorf("read DT_NEEDED of %s: %w", binary, err)
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		path, lib, err := findLibrary(name, dirs, f.Class, f.Machine)
		if err != nil {
			return nil, fmt.Errorf("shared library %s needed by %s: %w", name, binary, err)
		}
		if seen[path] {
			lib.Close()
			continue
		}
		needed, err := lib.ImportedLibraries()
		lib.Close()
		if err != nil {
			return nil, fmt.Errorf("read DT_NEEDED of %s: %w", path, err)
		}
		if err := add(path); err != nil {
			return nil, err
		}
		queue = append(queue, needed...)
	}
	return files, nil
}

// interpreter returns the PT_INTERP path of f, or "" for a static binary.
func interpreter(f *elf.File) (string, error) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return "", fmt.Errorf("read ELF interpreter: %w", err)
		}
		// The segment holds a NUL-terminated path.
		for i, c := range b {
			if c == 0 {
				b = b[:i]
				break
			}
		}
		return string(b), nil
	}
	return "", nil
}

// libraryDirs is the search order of the dynamic loader, less what cannot
// carry over into an image (LD_LIBRARY_PATH, ld.so.cache): the binary's own
// run path, then the system directories the loader searches by default. A
// library found in a directory of the run path is placed at the same path in
// the image, where the same run path finds it.
func libraryDirs(f *elf.File) []string {
	var dirs []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		if vals, err := f.DynString(tag); err == nil {
			for _, v := range vals {
				dirs = append(dirs, filepath.SplitList(v)...)
			}
		}
	}
	if triple := multiarchTriple(); triple != "" {
		dirs = append(dirs, "/lib/"+triple, "/usr/lib/"+triple)
	}
	if f.Class == elf.ELFCLASS64 {
		dirs = append(dirs, "/lib64", "/usr/lib64")
	}
	return append(dirs, "/lib", "/usr/lib")
}

// multiarchTriple names the Debian multiarch directory of this architecture.
func multiarchTriple() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64-linux-gnu"
	case "arm64":
		return "aarch64-linux-gnu"
	case "arm":
		return "arm-linux-gnueabihf"
	case "386":
		return "i386-linux-gnu"
	case "ppc64le":
		return "powerpc64le-linux-gnu"
	case "s390x":
		return "s390x-linux-gnu"
	case "riscv64":
		return "riscv64-linux-gnu"
	}
	return ""
}

// findLibrary returns the first file called name in dirs that is an ELF
// object of the given class and machine, opened. A library of another
// architecture in the same directory (a 32-bit libc in /usr/lib, say) is
// skipped, as the loader would.
func findLibrary(name string, dirs []string, class elf.Class, machine elf.Machine) (string, *elf.File, error) {
	if filepath.IsAbs(name) {
		dirs = []string{filepath.Dir(name)}
		name = filepath.Base(name)
	}
	for _, dir := range dirs {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		lib, err := elf.Open(path)
		if err != nil {
			continue
		}
		if lib.Class == class && lib.Machine == machine {
			return path, lib, nil
		}
		lib.Close()
	}
	return "", nil, errNotFound
}
