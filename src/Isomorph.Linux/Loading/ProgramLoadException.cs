namespace Isomorph.Linux.Loading;

/// <summary>A program that cannot be started (bad ELF, missing interpreter), with a one-line reason.</summary>
public sealed class ProgramLoadException(string message) : Exception(message);
