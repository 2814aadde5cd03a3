namespace Realtime.Contracts.Grains;

/// <summary>Marks a grain interface addressed by a string key, as in Orleans.</summary>
public interface IGrainWithStringKey;
