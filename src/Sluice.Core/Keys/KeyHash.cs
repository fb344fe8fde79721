using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Sluice.Core.Keys;

/// <summary>The SHA-256 of an API key: the only form in which a key is stored or looked up.</summary>
public readonly struct KeyHash : IEquatable<KeyHash>
{
    private readonly ulong _a, _b, _c, _d;

    private KeyHash(ReadOnlySpan<byte> sha256)
    {
        _a = BinaryPrimitives.ReadUInt64LittleEndian(sha256);
        _b = BinaryPrimitives.ReadUInt64LittleEndian(sha256[8..]);
        _c = BinaryPrimitives.ReadUInt64LittleEndian(sha256[16..]);
        _d = BinaryPrimitives.ReadUInt64LittleEndian(sha256[24..]);
    }

    /// <summary>Hashes a presented key without allocating.</summary>
    public static KeyHash Of(ReadOnlySpan<char> key)
    {
        Span<byte> hash = stackalloc byte[32];
        if (key.Length <= 256)
        {
            Span<byte> utf8 = stackalloc byte[256 * 3];
            var n = Encoding.UTF8.GetBytes(key, utf8);
            SHA256.HashData(utf8[..n], hash);
        }
        else
        {
            SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString()), hash);
        }
        return new KeyHash(hash);
    }

    public static KeyHash FromBytes(ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != 32)
        {
            throw new ArgumentException("A key hash is 32 bytes.", nameof(sha256));
        }
        return new KeyHash(sha256);
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[32];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, _a);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), _b);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), _c);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), _d);
        return bytes;
    }

    public bool Equals(KeyHash other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is KeyHash other && Equals(other);

    // The hash is uniformly random already; any 64 bits of it make a good hash code.
    public override int GetHashCode() => (int)_a ^ (int)(_a >> 32);

    public override string ToString() => Convert.ToHexStringLower(ToBytes());

    public static bool operator ==(KeyHash left, KeyHash right) => left.Equals(right);

    public static bool operator !=(KeyHash left, KeyHash right) => !left.Equals(right);
}
