using System.CommandLine;
using System.Net.Http.Json;
using Sluice.Gateway.Admin;

namespace Sluice.Commands;

/// <summary><c>sluice keys create|list|show|update|credit|revoke</c>: drives the admin API of a running gateway.</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var server = new Option<string>("--server") { Description = "The gateway's URL.", DefaultValueFactory = _ => "http://127.0.0.1:8080", Recursive = true };
        var token = new Option<string?>("--admin-token") { Description = "The admin token (default: read from <data-dir>/admin-token).", Recursive = true };
        var dataDir = new Option<string>("--data-dir") { Description = "Where to find the admin token file.", DefaultValueFactory = _ => "./data", Recursive = true };
        var keys = new Command("keys", "Create, list, show, update, credit and revoke API keys.") { server, token, dataDir };

        var name = new Option<string>("--name") { Description = "Who the key is for.", Required = true };
        var plan = new Option<string?>("--plan") { Description = "The key's plan (default free)." };
        var create = new Command("create", "Create a key; its secret is printed once, as the last line.") { name, plan };
        create.SetAction((result, cancellationToken) => Run(result, server, token, dataDir, client => CreateAsync(client, result.GetValue(name)!, result.GetValue(plan), cancellationToken)));

        var list = new Command("list", "List keys (never their secrets).");
        list.SetAction((result, cancellationToken) => Run(result, server, token, dataDir, client => ListAsync(client, cancellationToken)));

        var showId = new Argument<string>("id") { Description = "The key id (key_…)." };
        var show = new Command("show", "Show a key and its usage.") { showId };
        show.SetAction((result, cancellationToken) => Run(result, server, token, dataDir, client => ShowAsync(client, result.GetValue(showId)!, cancellationToken)));

        var revokeId = new Argument<string>("id") { Description = "The key id (key_…)." };
        var revoke = new Command("revoke", "Revoke a key; it stops working within a second.") { revokeId };
        revoke.SetAction((result, cancellationToken) => Run(result, server, token, dataDir, client => RevokeAsync(client, result.GetValue(revokeId)!, cancellationToken)));

        var updateId = new Argument<string>("id") { Description = "The key id (key_…)." };
        var newName = new Option<string?>("--name") { Description = "A new name." };
        var newPlan = new Option<string?>("--plan") { Description = "Another plan; applies within a second." };
        var update = new Command("update", "Rename a key or move it to another plan.") { updateId, newName, newPlan };
        update.SetAction((result, cancellationToken) => Run(result, server, token, dataDir,
            client => UpdateAsync(client, result.GetValue(updateId)!, result.GetValue(newName), result.GetValue(newPlan), cancellationToken)));

        var creditId = new Argument<string>("id") { Description = "The key id (key_…)." };
        var amount = new Option<decimal>("--amount") { Description = "US dollars to add to the key's balance.", Required = true };
        var note = new Option<string?>("--note") { Description = "A note kept in the balance history." };
        var credit = new Command("credit", "Top up a prepaid key's balance.") { creditId, amount, note };
        credit.SetAction((result, cancellationToken) => Run(result, server, token, dataDir, client => CreditAsync(client, result.GetValue(creditId)!, result.GetValue(amount), result.GetValue(note), cancellationToken)));

        keys.Subcommands.Add(create);
        keys.Subcommands.Add(credit);
        keys.Subcommands.Add(list);
        keys.Subcommands.Add(show);
        keys.Subcommands.Add(update);
        keys.Subcommands.Add(revoke);
        return keys;
    }

    private static async Task<int> CreditAsync(AdminClient client, string id, decimal amount, string? note, CancellationToken cancellationToken)
    {
        var balance = await client.SendAsync(HttpMethod.Post, $"/admin/keys/{Uri.EscapeDataString(id)}/credit",
            JsonContent.Create(new CreditRequest(amount, note), AdminJsonContext.Default.CreditRequest), AdminJsonContext.Default.BalanceView, cancellationToken);
        Table.Write(Console.Out, ["ID", "PLAN", "BALANCE", "HELD", "AVAILABLE"],
            [[balance.KeyId, balance.Plan, Table.Usd(balance.BalanceUsd), Table.Usd(balance.HeldUsd), Table.Usd(balance.AvailableUsd)]]);
        if (balance.Billing != "prepaid")
        {
            Console.WriteLine();
            Console.WriteLine($"Note: plan '{balance.Plan}' is not prepaid ({balance.Billing}), so its calls do not draw on the balance;" +
                $" it is used once the key moves to a prepaid plan (sluice keys update {balance.KeyId} --plan <prepaid plan>).");
        }
        return 0;
    }

    internal static async Task<int> Run(ParseResult result, Option<string> server, Option<string?> token, Option<string> dataDir, Func<AdminClient, Task<int>> action)
    {
        var adminToken = result.GetValue(token);
        if (string.IsNullOrWhiteSpace(adminToken))
        {
            var path = Path.Combine(result.GetValue(dataDir)!, "admin-token");
            if (!File.Exists(path))
            {
                await Console.Error.WriteLineAsync($"No admin token: pass --admin-token or run where {path} exists.");
                return 2;
            }
            adminToken = (await File.ReadAllTextAsync(path)).Trim();
        }
        using var client = new AdminClient(result.GetValue(server)!, adminToken);
        try
        {
            return await action(client);
        }
        catch (AdminClientException exception)
        {
            await Console.Error.WriteLineAsync(exception.Message);
            return 1;
        }
        catch (HttpRequestException exception)
        {
            await Console.Error.WriteLineAsync($"Cannot reach {result.GetValue(server)}: {exception.Message}");
            return 1;
        }
    }

    private static async Task<int> CreateAsync(AdminClient client, string name, string? plan, CancellationToken cancellationToken)
    {
        var created = await client.SendAsync(HttpMethod.Post, "/admin/keys", JsonContent.Create(new CreateKeyRequest(name, plan), AdminJsonContext.Default.CreateKeyRequest),
            AdminJsonContext.Default.CreatedKey, cancellationToken);
        Table.Write(Console.Out, ["ID", "NAME", "PLAN", "CREATED"], [[created.Id, created.Name, created.Plan, Table.Time(created.Created)]]);
        Console.WriteLine();
        Console.WriteLine("The key is shown once; store it now:");
        Console.WriteLine(created.Key);
        return 0;
    }

    private static async Task<int> ListAsync(AdminClient client, CancellationToken cancellationToken)
    {
        var list = await client.SendAsync(HttpMethod.Get, "/admin/keys", null, AdminJsonContext.Default.KeyList, cancellationToken);
        Table.Write(Console.Out, KeyColumns, list.Data.Select(k => KeyRow(k.Id, k.Name, k.Plan, k.Display, k.Created, k.Revoked)).ToList());
        return 0;
    }

    private static async Task<int> ShowAsync(AdminClient client, string id, CancellationToken cancellationToken)
    {
        var key = await client.SendAsync(HttpMethod.Get, "/admin/keys/" + Uri.EscapeDataString(id), null, AdminJsonContext.Default.KeyDetails, cancellationToken);
        Table.Write(Console.Out, KeyColumns, [KeyRow(key.Id, key.Name, key.Plan, key.Display, key.Created, key.Revoked)]);
        Console.WriteLine();
        var usage = key.Usage.Select(u => new[] { u.Name, $"{u.Used}/{u.Limit}", u.Remaining.ToString(System.Globalization.CultureInfo.InvariantCulture), Table.Window(u.WindowSeconds), u.ResetAt is { } at ? $"{at:yyyy-MM-dd HH:mm:ss}Z (in {Table.Window(u.ResetSeconds)})" : "-" }).ToList();
        Table.Write(Console.Out, ["LIMIT", "USED", "REMAINING", "WINDOW", "NEXT FREE SLOT"], usage);
        return 0;
    }

    private static async Task<int> UpdateAsync(AdminClient client, string id, string? name, string? plan, CancellationToken cancellationToken)
    {
        if (name is null && plan is null)
        {
            await Console.Error.WriteLineAsync("Nothing to change: give --name, --plan or both.");
            return 2;
        }
        var key = await client.SendAsync(HttpMethod.Patch, "/admin/keys/" + Uri.EscapeDataString(id),
            JsonContent.Create(new UpdateKeyRequest(name, plan), AdminJsonContext.Default.UpdateKeyRequest), AdminJsonContext.Default.KeyView, cancellationToken);
        Table.Write(Console.Out, KeyColumns, [KeyRow(key.Id, key.Name, key.Plan, key.Display, key.Created, key.Revoked)]);
        return 0;
    }

    private static readonly string[] KeyColumns = ["ID", "NAME", "PLAN", "KEY", "CREATED", "STATUS"];

    private static string[] KeyRow(string id, string name, string plan, string display, long created, long? revoked) =>
        [id, name, plan, display, Table.Time(created), revoked is { } r ? "revoked " + Table.Time(r) : "active"];

    private static async Task<int> RevokeAsync(AdminClient client, string id, CancellationToken cancellationToken)
    {
        var key = await client.SendAsync(HttpMethod.Delete, "/admin/keys/" + Uri.EscapeDataString(id), null, AdminJsonContext.Default.KeyView, cancellationToken);
        Table.Write(Console.Out, ["ID", "NAME", "PLAN", "STATUS"], [[key.Id, key.Name, key.Plan, "revoked " + Table.Time(key.Revoked ?? 0)]]);
        return 0;
    }
}
