using System.CommandLine;
using Sluice.Commands;

var root = new RootCommand("Sluice: a self-hosted OpenAI-compatible relay with exact per-key and per-IP limits.");
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(KeysCommand.Create());
return await root.Parse(args).InvokeAsync();
