package wire

// Registration runs over HTTP, not over frames: a client sends a
// RegisterRequest as JSON in a PUT to {server}/api/register, with the header
// RegisterProtoHeader set to ProtocolVersion, and gets a RegisterResponse.

// RegisterRequest is the JSON body of a registration request.
type RegisterRequest struct {
	// Key is the server's registration key.
	Key string `json:"key"`
	// Port is the TCP port the client listens on.
	Port       uint32                    `json:"port"`
	Properties RegisterRequestProperties `json:"properties"`
}

// RegisterRequestProperties describes the registering host.
type RegisterRequestProperties struct {
	Hostname            string `json:"hostname"`
	KernelName          string `json:"kernel_name"`
	KernelVersion       string `json:"kernel_version"`
	DistributionName    string `json:"distribution_name"`
	DistributionVersion string `json:"distribution_version"`
}

// RegisterResponse is the data of a successful registration.
type RegisterResponse struct {
	// PSK is the pre-shared key the client uses from now on.
	PSK string `json:"psk"`
	// Scripts are to be run once, right after registering.
	Scripts []Script `json:"scripts,omitempty"`
}
