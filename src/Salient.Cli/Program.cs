Console.WriteLine(new Salient.Models.ModelSpec().Architecture); return 0;
