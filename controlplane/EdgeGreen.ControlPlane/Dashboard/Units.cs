using System.Globalization;

namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>
/// Quantities as people read them: the unit that keeps the number between 1 and 1,000 (W/kW/MW,
/// J/Wh/kWh/MWh, g/kg/t CO₂e) with three significant figures, and the exact stored value for
/// the hover title. Stored values are SI (W, J, g); an energy below one watt-hour stays in joules.
/// </summary>
public static class Units
{
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static string Power(double watts) => Scaled(watts, [(1e6, "MW"), (1e3, "kW"), (1, "W")], "W");

    public static string Energy(double joules)
    {
        var wattHours = joules / 3600;
        return Math.Abs(wattHours) < 1
            ? Scaled(joules, [(1e3, "kJ"), (1, "J")], "J")
            : Scaled(wattHours, [(1e6, "MWh"), (1e3, "kWh"), (1, "Wh")], "Wh");
    }

    public static string Carbon(double grams) => Scaled(grams, [(1e6, "t CO₂e"), (1e3, "kg CO₂e"), (1, "g CO₂e")], "g CO₂e");

    public static string Intensity(double gramsPerKwh) => $"{Significant(gramsPerKwh)} g CO₂e/kWh";

    public static string Percent(double share) => $"{Significant(share * 100)} %";

    /// <summary>The exact value with its stored unit, for a title attribute: "1234.5678 W".</summary>
    public static string Exact(double value, string unit) => $"{value.ToString("0.######", Culture)} {unit}";

    /// <summary>Three significant figures, thousands separated: 0.0123, 1.23, 123, 1,230.</summary>
    public static string Significant(double value)
    {
        if (value == 0 || !double.IsFinite(value))
        {
            return value.ToString(Culture);
        }

        var digits = Math.Max(0, 2 - (int)Math.Floor(Math.Log10(Math.Abs(value))));
        return Math.Round(value, Math.Min(digits, 15)).ToString("#,0." + new string('#', digits), Culture);
    }

    private static string Scaled(double value, (double Factor, string Unit)[] units, string smallest)
    {
        foreach (var (factor, unit) in units)
        {
            if (Math.Abs(value) >= factor)
            {
                return $"{Significant(value / factor)} {unit}";
            }
        }

        return $"{Significant(value)} {smallest}";
    }
}
