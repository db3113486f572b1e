package domain

// Options are the server's settings that users change at run time. The
// groups and defaults are those of otto 0.x; Runs and Network.MaxParallel
// are otto's additions.
type Options struct {
	General        GeneralOptions
	Authentication AuthenticationOptions
	Network        NetworkOptions
	Register       RegisterOptions
	Security       SecurityOptions
	Runs           RunOptions
}

// GeneralOptions ...
type GeneralOptions struct {
	ServerURL         string
	GlobalEnvironment Environment
}

// AuthenticationOptions ...
type AuthenticationOptions struct {
	MaxAgeMinutes int
	SecureOnly    bool
}

// IP versions for NetworkOptions.ForceIPVersion.
const (
	IPVersionAuto = "auto"
	IPVersion4    = "ipv4"
	IPVersion6    = "ipv6"
)

// NetworkOptions ...
type NetworkOptions struct {
	ForceIPVersion string
	// Timeout in seconds for a dial and for each read (keepalives extend it).
	Timeout int
	// HeartbeatFrequency in minutes.
	HeartbeatFrequency int
	// MaxParallel bounds how many hosts are contacted at once.
	MaxParallel int
}

// RegisterOptions ...
type RegisterOptions struct {
	Enabled              bool
	Key                  string
	DefaultGroupID       string
	RunScriptsOnRegister bool
}

// SecurityOptions ...
type SecurityOptions struct {
	IncludePSKEnv bool
	RotatePSK     RotatePSKOptions
}

// RotatePSKOptions ...
type RotatePSKOptions struct {
	Enabled       bool
	FrequencyDays int
}

// RunOptions bound the run history.
type RunOptions struct {
	// OutputMaxBytes caps each stream of a stored run's output.
	OutputMaxBytes int
	// HistoryMax is how many runs are kept at most.
	HistoryMax int
	// HistoryDays is how long runs are kept.
	HistoryDays int
}

// DefaultOptions are a new server's options.
func DefaultOptions() Options {
	return Options{
		Authentication: AuthenticationOptions{MaxAgeMinutes: 60},
		Network: NetworkOptions{
			ForceIPVersion:     IPVersionAuto,
			Timeout:            10,
			HeartbeatFrequency: 5,
			MaxParallel:        64,
		},
		Security: SecurityOptions{RotatePSK: RotatePSKOptions{Enabled: true, FrequencyDays: 7}},
		Runs:     RunOptions{OutputMaxBytes: 1 << 20, HistoryMax: 100000, HistoryDays: 90},
	}
}
