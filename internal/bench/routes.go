package bench

// apiRoute is one route of docs/api.md.
type apiRoute struct {
	method, pattern string
}

// apiRoutes are the routes of docs/api.md, in its order; a test checks
// that the list and the document agree.
var apiRoutes = []apiRoute{
	{"POST", "/api/login"},
	{"POST", "/api/logout"},
	{"GET", "/api/state"},
	{"GET", "/api/hosts"},
	{"PUT", "/api/hosts/host"},
	{"GET", "/api/hosts/host/{id}"},
	{"POST", "/api/hosts/host/{id}"},
	{"DELETE", "/api/hosts/host/{id}"},
	{"GET", "/api/hosts/host/{id}/scripts"},
	{"GET", "/api/hosts/host/{id}/groups"},
	{"GET", "/api/hosts/host/{id}/schedules"},
	{"GET", "/api/groups"},
	{"GET", "/api/groups/membership"},
	{"PUT", "/api/groups/group"},
	{"GET", "/api/groups/group/{id}"},
	{"POST", "/api/groups/group/{id}"},
	{"DELETE", "/api/groups/group/{id}"},
	{"GET", "/api/groups/group/{id}/scripts"},
	{"GET", "/api/groups/group/{id}/hosts"},
	{"POST", "/api/groups/group/{id}/hosts"},
	{"GET", "/api/groups/group/{id}/schedules"},
	{"GET", "/api/scripts"},
	{"PUT", "/api/scripts/script"},
	{"GET", "/api/scripts/script/{id}"},
	{"POST", "/api/scripts/script/{id}"},
	{"DELETE", "/api/scripts/script/{id}"},
	{"GET", "/api/scripts/script/{id}/hosts"},
	{"GET", "/api/scripts/script/{id}/groups"},
	{"POST", "/api/scripts/script/{id}/groups"},
	{"GET", "/api/scripts/script/{id}/schedules"},
	{"GET", "/api/scripts/script/{id}/attachments"},
	{"GET", "/api/attachments"},
	{"PUT", "/api/attachments"},
	{"GET", "/api/attachments/attachment/{id}"},
	{"POST", "/api/attachments/attachment/{id}"},
	{"DELETE", "/api/attachments/attachment/{id}"},
	{"GET", "/api/attachments/attachment/{id}/download"},
	{"GET", "/api/schedules"},
	{"PUT", "/api/schedules/schedule"},
	{"GET", "/api/schedules/schedule/{id}"},
	{"POST", "/api/schedules/schedule/{id}"},
	{"DELETE", "/api/schedules/schedule/{id}"},
	{"GET", "/api/schedules/schedule/{id}/reports"},
	{"GET", "/api/schedules/schedule/{id}/hosts"},
	{"GET", "/api/schedules/schedule/{id}/groups"},
	{"GET", "/api/schedules/schedule/{id}/script"},
	{"PUT", "/api/register"},
	{"GET", "/api/register/rules"},
	{"PUT", "/api/register/rules/rule"},
	{"GET", "/api/register/rules/rule/{id}"},
	{"POST", "/api/register/rules/rule/{id}"},
	{"DELETE", "/api/register/rules/rule/{id}"},
	{"GET", "/api/heartbeat"},
	{"POST", "/api/heartbeat"},
	{"POST", "/api/hosts/host/{id}/heartbeat"},
	{"POST", "/api/hosts/host/{id}/psk"},
	{"PUT", "/api/action/sync"},
	{"PUT", "/api/action/async"},
	{"POST", "/api/runs"},
	{"GET", "/api/runs"},
	{"GET", "/api/runs/run/{id}"},
	{"POST", "/api/runs/run/{id}/cancel"},
	{"GET", "/api/runs/batch/{batch}"},
	{"GET", "/api/runs/run/{id}/stream"},
	{"GET", "/api/runs/batch/{batch}/stream"},
	{"GET", "/api/users"},
	{"PUT", "/api/users/user"},
	{"GET", "/api/users/user/{username}"},
	{"POST", "/api/users/user/{username}"},
	{"DELETE", "/api/users/user/{username}"},
	{"POST", "/api/users/user/{username}/apikey"},
	{"POST", "/api/users/reset_password"},
	{"GET", "/api/options"},
	{"POST", "/api/options"},
	{"GET", "/api/events"},
	{"POST", "/api/search/system"},
	{"GET", "/api/backup"},
}

// apiFields are the JSON field names of docs/api.md's shapes and request
// bodies, for the fuzzer's bodies.
var apiFields = []string{
	"ID", "Name", "Address", "Port", "PSK", "LastPSKRotate", "RotateOnContact", "GroupIDs", "Environment", "Enabled",
	"Created", "Key", "Value", "Secret", "ScriptIDs", "Executable", "Script", "RunAs", "Inherit", "UID", "GID",
	"WorkingDirectory", "AfterExecution", "AttachmentIDs", "Path", "Owner", "Mode", "Size", "Checksum", "ScriptID",
	"Scope", "HostIDs", "Pattern", "LastRun", "Clauses", "Property", "GroupID", "Order", "Username", "Email", "Role",
	"CanLogIn", "MustChangePassword", "Password", "OldPassword", "NewPassword", "Hosts", "Groups", "Action", "HostID",
	"Query", "General", "ServerURL", "GlobalEnvironment", "Authentication", "MaxAgeMinutes", "SecureOnly", "Network",
	"ForceIPVersion", "Timeout", "HeartbeatFrequency", "MaxParallel", "Register", "DefaultGroupID",
	"RunScriptsOnRegister", "Security", "IncludePSKEnv", "RotatePSK", "FrequencyDays", "Runs", "OutputMaxBytes",
	"HistoryMax", "HistoryDays", "key", "port", "properties", "hostname", "kernel_name", "BatchID", "State",
}

// Routes returns the routes the hostile mode fuzzes, as "METHOD /path",
// for the test that compares them with docs/api.md.
func Routes() []string {
	out := make([]string, len(apiRoutes))
	for i, rt := range apiRoutes {
		out[i] = rt.method + " " + rt.pattern
	}
	return out
}
