// Command omnitray is the employee's agent: it keeps their Chaport operator in
// step with their Omnidesk status through the company's hub. This main only
// wires flags, logging and signals to the packages that do the work.
package main

import "github.com/omnitray/omnitray/cmd/internal/cli"

func main() {
	cli.Main("omnitray", "keeps your Chaport operator in step with your Omnidesk status", []*cli.Command{
		{Name: "run", Short: "run the agent (--headless: without a tray)", Run: runAgent},
		{Name: "login", Short: "store your hub token in the OS keyring (--hub: save the hub URL)", Run: runLogin},
		{Name: "logout", Short: "remove your hub token from the OS keyring", Run: runLogout},
		{Name: "autostart", Short: "start at login: on, off or status", Run: runAutostart},
		{Name: "status", Short: "show what the running agent sees and why", Run: runStatus},
		{Name: "switch", Short: "switch your Omnidesk status; waits until Omnidesk shows it", Run: runSwitch},
		{Name: "history", Short: "your status changes and the reasons, as the hub keeps them", Run: runHistory},
		{Name: "demo", Short: "sandbox + hub + agent in one process, no accounts needed", Run: runDemo},
		{Name: "sandbox", Short: "run local fakes of Chaport and Omnidesk with a control page", Run: runSandbox},
	})
}
