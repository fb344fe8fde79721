using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Sluice.Core.Clients;

/// <summary>
/// A client's address and the group it is counted in: an IPv4 address counts alone (or by a configured
/// prefix), an IPv6 address by its prefix (a /64 by default), since one IPv6 host can use a whole /64.
/// IPv4-mapped IPv6 (<c>::ffff:a.b.c.d</c>) counts as the IPv4 address.
/// </summary>
public readonly struct ClientAddress : IEquatable<ClientAddress>
{
    private const int Ipv4MappedHigh = 0xFFFF;

    private ClientAddress(IPAddress address, UInt128 group, byte prefixLength)
    {
        Address = address;
        Group = group;
        PrefixLength = prefixLength;
    }

    /// <summary>The client's address, IPv4 where it was IPv4-mapped.</summary>
    public IPAddress Address { get; }

    /// <summary>The 128-bit number of the group (IPv4 as <c>::ffff:a.b.c.d</c>, masked to the prefix).</summary>
    public UInt128 Group { get; }

    /// <summary>The prefix the group was masked to, in the address's own family (32 or less for IPv4).</summary>
    public byte PrefixLength { get; }

    public bool IsIPv4 => Address.AddressFamily == AddressFamily.InterNetwork;

    public static ClientAddress From(IPAddress address, int ipv4PrefixLength = 32, int ipv6PrefixLength = 64)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes, out _);
            var v4 = BinaryPrimitives.ReadUInt32BigEndian(bytes) & Mask32(ipv4PrefixLength);
            return new ClientAddress(address, ((UInt128)Ipv4MappedHigh << 32) | v4, (byte)ipv4PrefixLength);
        }
        address.TryWriteBytes(bytes, out _);
        var v6 = BinaryPrimitives.ReadUInt128BigEndian(bytes) & Mask128(ipv6PrefixLength);
        return new ClientAddress(address, v6, (byte)ipv6PrefixLength);
    }

    /// <summary>The group as people read it: <c>203.0.113.7</c>, or <c>2001:db8:1:2::/64</c>.</summary>
    public string GroupText
    {
        get
        {
            var full = IsIPv4 ? 32 : 128;
            if (PrefixLength >= full)
            {
                return Address.ToString();
            }
            Span<byte> bytes = stackalloc byte[16];
            IPAddress network;
            if (IsIPv4)
            {
                BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)(Group & uint.MaxValue));
                network = new IPAddress(bytes[..4]);
            }
            else
            {
                BinaryPrimitives.WriteUInt128BigEndian(bytes, Group);
                network = new IPAddress(bytes);
            }
            return $"{network}/{PrefixLength}";
        }
    }

    public bool Equals(ClientAddress other) => Group == other.Group && PrefixLength == other.PrefixLength;

    public override bool Equals(object? obj) => obj is ClientAddress other && Equals(other);

    public override int GetHashCode() => Group.GetHashCode();

    public override string ToString() => Address?.ToString() ?? "";

    public static bool operator ==(ClientAddress left, ClientAddress right) => left.Equals(right);

    public static bool operator !=(ClientAddress left, ClientAddress right) => !left.Equals(right);

    private static uint Mask32(int prefix) => prefix <= 0 ? 0u : prefix >= 32 ? uint.MaxValue : uint.MaxValue << (32 - prefix);

    private static UInt128 Mask128(int prefix) => prefix <= 0 ? UInt128.Zero : prefix >= 128 ? UInt128.MaxValue : UInt128.MaxValue << (128 - prefix);
}
