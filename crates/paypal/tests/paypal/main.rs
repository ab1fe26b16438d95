mod flows;
