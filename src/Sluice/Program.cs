using System.CommandLine;
using Sluice.Commands;

var root = new RootCommand("Sluice: a self-hosted OpenAI-compatible relay with exact per-key and per-IP limits.");
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(KeysCommand.Create());
root.Subcommands.Add(UsageCommand.Create());
root.Subcommands.Add(DbCommand.Create());
return await root.Parse(args).InvokeAsync();
