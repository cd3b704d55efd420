namespace Salient.Data;

/// <summary>
/// Where data sets live on this machine: the user's data directory (<c>SALIENT_DATA</c>, else the
/// platform's cache folder) holds one folder per downloaded data set, named as the data set is
/// named in <c>--data</c> ("gtsrb", "lisa").
/// </summary>
public static class DataFolders
{
    public const string DataVariable = "SALIENT_DATA";
    public const string Gtsrb = "gtsrb";
    public const string Lisa = "lisa";

    /// <summary>The data sets <c>salient data download</c> installs, by the name <c>--data</c> takes.</summary>
    public static readonly IReadOnlyList<string> Names = [Gtsrb, Lisa];

    /// <summary><c>SALIENT_DATA</c> when set, else <see cref="UserCache"/>.</summary>
    public static string DataRoot =>
        Environment.GetEnvironmentVariable(DataVariable) is { Length: > 0 } root ? Path.GetFullPath(root) : UserCache;

    /// <summary>
    /// The platform's per-user cache folder for Salient: ~/.cache/salient (or $XDG_CACHE_HOME/salient)
    /// on Linux, ~/Library/Caches/salient on macOS, %LOCALAPPDATA%\salient on Windows.
    /// </summary>
    public static string UserCache
    {
        get
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (OperatingSystem.IsWindows())
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "salient");
            if (OperatingSystem.IsMacOS())
                return Path.Combine(home, "Library", "Caches", "salient");
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            return Path.Combine(xdg is { Length: > 0 } && Path.IsPathRooted(xdg) ? xdg : Path.Combine(home, ".cache"), "salient");
        }
    }

    /// <summary>The folder a named data set is installed in (it may not exist yet).</summary>
    public static string Folder(string name) => Path.Combine(DataRoot, name);

    /// <summary>
    /// The folder <c>--data</c> means: a data set's name stands for its folder under <see cref="DataRoot"/>
    /// (an error saying how to install it when it is missing); anything else is a folder path.
    /// </summary>
    public static string Resolve(string source)
    {
        if (!Names.Contains(source)) return source;
        var folder = Folder(source);
        if (Directory.Exists(folder)) return folder;
        var local = Directory.Exists(source) ? $" (to use the folder '{source}' here instead, pass --data ./{source})" : "";
        throw new SalientException(source == Gtsrb
            ? $"GTSRB is not in {folder} yet: run 'salient data download gtsrb' to download it (about 280 MB), or set {DataVariable} to the folder that holds gtsrb/{local}."
            : $"LISA is not in {folder} yet: download signDatabasePublicFramesOnly.zip from its authors and run 'salient data download lisa --from-archive FILE', or set {DataVariable} to the folder that holds lisa/{local}.");
    }
}
