package awsprice

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// State is the state file of AWS refreshes: per region, the offer file
// version last downloaded and the GPU rows it held. A refresh downloads a
// region again only when region_index.json names another version; otherwise
// it reuses the rows (docs/pricing.md, "The state file"). It is safe for
// concurrent use by the regions of one refresh.
type State struct {
	mu      sync.Mutex
	Regions map[string]RegionState `json:"regions"`
}

// RegionState is one region's last download.
type RegionState struct {
	// Version is the offer file's path in region_index.json
	// (currentVersionUrl), which changes with every publication.
	Version string        `json:"version"`
	Rows    []OnDemandRow `json:"rows"`
}

// LoadState reads a state file; a missing file is an empty state, as on the
// first refresh.
func LoadState(path string) (*State, error) {
	s := &State{Regions: map[string]RegionState{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading AWS price state: %w", err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("reading AWS price state %s: %w (delete it to download every region again)", path, err)
	}
	if s.Regions == nil {
		s.Regions = map[string]RegionState{}
	}
	return s, nil
}

// Save writes the state atomically: a refresh killed while saving leaves
// the previous state, never half a file.
func (s *State) Save(path string) error {
	s.mu.Lock()
	b, err := json.MarshalIndent(s, "", " ")
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encoding AWS price state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("saving AWS price state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("saving AWS price state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("saving AWS price state: %w", err)
	}
	return nil
}

// unchanged returns a region's rows when its recorded version is version.
func (s *State) unchanged(region, version string) ([]OnDemandRow, bool) {
	if s == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.Regions[region]
	if !ok || r.Version != version || version == "" {
		return nil, false
	}
	return r.Rows, true
}

func (s *State) set(region, version string, rows []OnDemandRow) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Regions == nil {
		s.Regions = map[string]RegionState{}
	}
	s.Regions[region] = RegionState{Version: version, Rows: rows}
}
